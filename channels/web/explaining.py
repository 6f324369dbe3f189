"""/lookup/explain (staff, compact) and /admin/explain (admin, full): `bot.py explain` on the web.

Both render retrieval/explain.py's Explanation through templates/explain.txt.j2 (the admin view
with the term lists and the lexicon / question-index files that would change the outcome), in
templates/web/explain.html. Nothing is logged.
"""

from starlette.concurrency import run_in_threadpool

from retrieval.errors import EmptyQuestionError, QuestionTooLongError
from retrieval.explain import explain

MAX_QUESTION = 500


async def page(request, assistant, templates, gate, full, back):
    """The explanation page of ?q= (and ?passage= for "why not this passage?")."""
    session, refused = gate.session(request)
    if refused is not None:
        return refused
    question = (request.query_params.get("q") or "")[:MAX_QUESTION]
    passage = request.query_params.get("passage") or None
    text, problem = None, None
    if question.strip():
        try:
            found = await run_in_threadpool(explain, assistant.answerer, question, passage)
        except KeyError:
            problem = "passage"
        except (EmptyQuestionError, QuestionTooLongError):
            problem = "question"
        else:
            text = assistant.render("explain.txt.j2", e=found, full=full)
    context = {"question": question, "passage": passage or "", "text": text, "problem": problem, "full": full, "action": request.url.path, "back": back}
    return templates.TemplateResponse(request, "explain.html", context)

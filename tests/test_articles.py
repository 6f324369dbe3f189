"""A question naming an article of a document is answered with that article, or told that the
document has no such article; an order no document is gets the same honest decline."""

import pytest

from retrieval.articles import chinese_number


@pytest.mark.parametrize("n, text", [(1, "一"), (10, "十"), (15, "十五"), (70, "七十"), (101, "一百零一"), (110, "一百一十"), (1076, "一千零七十六"), (1100, "一千一百")])
def test_article_numbers_are_written_as_the_texts_write_them(n, text):
    assert chinese_number(n) == text


@pytest.mark.parametrize(
    "question, source",
    [
        ("民法典第一千零七十六条", "civil-code-marriage-family:第一千零七十六条"),
        ("民法典第1076条说了啥", "civil-code-marriage-family:第一千零七十六条"),
        ("根据婚姻登记条例第九条,表兄妹能结婚吗", "marriage-registration-2025:第九条"),
        ("《殡葬管理条例》第二十七条", "funeral-regulation-2025:第二十七条"),
    ],
)
def test_a_named_article_is_answered_with_that_article(answerer, question, source):
    answer = answerer.ask(question)
    assert answer.kind == "answer" and [h.passage["id"] for h in answer.sources] == [source]


@pytest.mark.parametrize(
    "question, said",
    [
        ("《社会救助暂行办法》第七十一条是什么内容", "《社会救助暂行办法》第七十一条(资料中的《社会救助暂行办法》共七十条)"),
        ("婚姻登记条例第三十条怎么规定的", "《婚姻登记条例》第三十条"),
        ("民政部第88号令说低保怎么办", "民政部第88号令"),
    ],
)
def test_an_article_or_order_the_sources_do_not_have_is_declined_as_such(answerer, question, said):
    answer = answerer.ask(question)
    assert answer.kind == "not_found" and answer.sources == () and f"没有涉及{said}" in answer.text

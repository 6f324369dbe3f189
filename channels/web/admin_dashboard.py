"""/admin/dashboard: questions per day by channel, answered/suggested/declined share, top topics,
👍/👎 per day and the knowledge gaps that grew this week, as inline SVG drawn on the server."""

import datetime
import time

from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from retrieval import dashboard
from retrieval.errors import DataFileError
from retrieval.querylog import TIME_FORMAT

from . import charts
from .localtime import aware, zone

PERIODS = (7, 14, 30)  # days the page offers
DEFAULT_DAYS = 14


class Dashboard:
    def __init__(self, admin):
        self.admin = admin
        self.tz = zone(admin.settings)

    def routes(self):
        return [Route("/admin/dashboard", self.page, methods=["GET"])]

    def day_of(self, logged):
        moment = aware(logged, self.tz)
        return moment.date().isoformat() if moment is not None else ""

    def figures(self, days):
        """The Dashboard of the last `days` local days (today included), from the query log."""
        assistant, now = self.admin.assistant, self.admin.clock()
        today = datetime.datetime.fromtimestamp(now, self.tz).date()
        # The log keeps the server's clock: start a day early so no local day is cut short.
        since = time.strftime(TIME_FORMAT, time.localtime(now - (days + 1) * 86400))
        rows = assistant.log.activity(since)
        votes = assistant.log.votes(since)
        groups = assistant.unanswered(days=15, now=now)
        return dashboard.summarize(rows, votes, groups, self.day_of, assistant.topics_of, today, days)

    async def page(self, request):
        admin = self.admin
        session, refused = admin.gate.session(request)
        if refused is not None:
            return refused
        try:
            days = int(request.query_params.get("days", DEFAULT_DAYS))
        except ValueError:
            days = DEFAULT_DAYS
        days = days if days in PERIODS else DEFAULT_DAYS
        try:
            figures = await run_in_threadpool(self.figures, days)
        except DataFileError as exc:
            return admin.broken(request, session, exc)
        context = {"figures": figures, "days": days, "periods": PERIODS, **drawn(figures)}
        return admin.render(request, "admin_dashboard.html", context, session)


def drawn(figures):
    """The charts' geometry for the template."""
    f = figures
    return {
        "by_channel": charts.stacked_bars(f.days, f.channels, lambda d, c: f.per_day[d].get(c, 0)),
        "by_outcome": charts.stacked_bars(f.days, dashboard.OUTCOMES, f.share, top=1.0),
        "by_topic": charts.hbars(list(f.topics)),
        "by_vote": charts.lines(f.days, [("up", [f.votes[d]["up"] for d in f.days]), ("down", [f.votes[d]["down"] for d in f.days])]),
    }

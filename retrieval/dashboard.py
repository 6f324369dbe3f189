"""What an office head reads at a glance: the query log summed up by day, outcome and topic.

Pure functions over rows of `QueryLog.activity` / `QueryLog.votes` and the groups of
`unanswered.group`; the caller passes how a logged time becomes a local day (`day_of`) and how a
question's topics are found (`topics_of`), so the day boundaries are the office's, not the server's.
"""

import datetime
from dataclasses import dataclass

ANSWERED, SUGGESTED, DECLINED = "answered", "suggested", "declined"
OUTCOMES = (ANSWERED, SUGGESTED, DECLINED)
NOT_GAPS = frozenset({"out_of_scope", "empty", "too_long"})  # another department's matter, or no question


def outcome_of(kind):
    """answered / suggested / declined for a logged answer kind."""
    if kind == "answer":
        return ANSWERED
    if kind == "suggest":
        return SUGGESTED
    return DECLINED


@dataclass(frozen=True)
class GapTrend:
    question: str  # the group's most frequent wording
    this_week: int  # questions in the last 7 days (today included)
    last_week: int  # in the 7 days before
    kinds: tuple
    variants: tuple

    @property
    def growth(self):
        return self.this_week - self.last_week


@dataclass(frozen=True)
class Dashboard:
    days: tuple  # local dates "YYYY-MM-DD", oldest first
    channels: tuple  # channels seen, most questions first
    per_day: dict  # day -> {channel: questions}
    outcomes: dict  # day -> {answered, suggested, declined: questions}
    topics: tuple  # (topic, questions), most first
    votes: dict  # day -> {"up": n, "down": n}
    gaps: tuple  # GapTrend, grown most first
    total: int  # questions in the period

    def share(self, day, outcome):
        """The share (0..1) of a day's questions that had this outcome; 0 on a day without any."""
        counts = self.outcomes[day]
        total = sum(counts.values())
        return counts[outcome] / total if total else 0.0


def day_range(today, days):
    """The `days` local dates ending with `today` (a date), oldest first, as ISO strings."""
    return tuple((today - datetime.timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1))


def summarize(rows, votes, groups, day_of, topics_of, today, days=14, top_topics=8, top_gaps=5):
    """The Dashboard of the `days` days ending `today` (a local date)."""
    span = day_range(today, days)
    wanted = set(span)
    per_day = {d: {} for d in span}
    outcomes = {d: dict.fromkeys(OUTCOMES, 0) for d in span}
    topics, channels, total = {}, {}, 0
    for row in rows:
        day = day_of(row["time"])
        if day not in wanted:
            continue
        total += 1
        channel = row["channel"] or "?"
        per_day[day][channel] = per_day[day].get(channel, 0) + 1
        channels[channel] = channels.get(channel, 0) + 1
        outcomes[day][outcome_of(row["kind"])] += 1
        for topic in topics_of(row["question"] or ""):
            topics[topic] = topics.get(topic, 0) + 1
    tally = {d: {"up": 0, "down": 0} for d in span}
    for vote in votes:
        day = day_of(vote["time"])
        if day in wanted:
            tally[day]["up" if vote["value"] > 0 else "down"] += 1
    return Dashboard(
        days=span,
        channels=tuple(sorted(channels, key=lambda c: (-channels[c], c))),
        per_day=per_day,
        outcomes=outcomes,
        topics=tuple(sorted(topics.items(), key=lambda kv: (-kv[1], kv[0]))[:top_topics]),
        votes=tally,
        gaps=grown_gaps(groups, day_of, today, top_gaps),
        total=total,
    )


def grown_gaps(groups, day_of, today, limit=5):
    """Groups of unanswered questions (not out of scope) asked more in the last 7 days than in
    the 7 before, the largest growth first."""
    this_week = set(day_range(today, 7))
    last_week = set(day_range(today - datetime.timedelta(days=7), 7))
    out = []
    for g in groups:
        if g.kinds and set(g.kinds) <= NOT_GAPS:
            continue
        days = [day_of(t) for t in g.times]
        now, before = sum(d in this_week for d in days), sum(d in last_week for d in days)
        if now > before:
            out.append(GapTrend(g.question, now, before, g.kinds, g.variants))
    out.sort(key=lambda t: (-t.growth, -t.this_week, t.question))
    return tuple(out[:limit])

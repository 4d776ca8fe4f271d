"""Dates and times as the admin shows them: an operator compares a node's start with a log
entry's, so times are exact (ISO 8601 with the fraction of a second and the offset, e.g.
2026-12-04T16:20:29.123456+00:00), not "Dec. 4, 2026, 4:20 p.m."."""

DATETIME_FORMAT = "c"
SHORT_DATETIME_FORMAT = "c"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s.u"

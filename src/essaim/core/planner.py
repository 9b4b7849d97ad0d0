"""What the PostgreSQL planner expects of a query, for code that picks a strategy by the size of a result
(reading every match at once, or range by range) without counting it first."""

import json

from django.db import connections
from django.db.models import QuerySet


def estimated_rows(queryset: QuerySet) -> int:
    """The number of rows the PostgreSQL planner expects ``queryset`` to return (``EXPLAIN``, nothing is
    run; from the tables' statistics, hence approximate). PostgreSQL only: raises ValueError elsewhere."""
    if connections[queryset.db].vendor != "postgresql":
        raise ValueError("The planner's estimate is read on PostgreSQL only.")
    plan = json.loads(queryset.explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])

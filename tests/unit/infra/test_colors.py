"""Color selection as a table: every row of the UX contract (docs/design.md)."""

import pytest

from bluegreen.infra.colors import ColorSelectionError, GroupState, LiveState, select_colors

OLD = "ami-0000000000000aaaa"
NEW = "ami-0000000000000bbbb"
THIRD = "ami-0000000000000cccc"


def serving(ami: str, n: int = 5, declared: bool = False) -> GroupState:
    return GroupState(exists=True, desired_capacity=n, ami=ami, declared_active=declared)


def parked(ami: str) -> GroupState:
    return GroupState(exists=True, desired_capacity=0, ami=ami)


# (case, live, activeAmi, activeColor, expected active, expected idle AMI, expected drain)
TABLE = [
    ("first deploy", LiveState(), NEW, None, "blue", NEW, False),
    ("first deploy pinned green", LiveState(), NEW, "green", "green", NEW, False),
    ("steady state blue", LiveState(blue=serving(NEW), green=parked(OLD)), NEW, None, "blue", OLD, False),
    ("steady state green", LiveState(blue=parked(OLD), green=serving(NEW)), NEW, None, "green", OLD, False),
    ("new AMI flips blue->green", LiveState(blue=serving(OLD), green=parked(OLD)), NEW, None, "green", OLD, True),
    ("new AMI, green never deployed", LiveState(blue=serving(OLD)), NEW, None, "green", OLD, True),
    ("new AMI flips green->blue", LiveState(blue=parked(OLD), green=serving(OLD)), NEW, None, "blue", OLD, True),
    ("interrupted cutover resumes", LiveState(blue=serving(OLD), green=serving(NEW)), NEW, None, "green", OLD, True),
    ("interrupted cutover rolled back", LiveState(blue=serving(OLD), green=serving(NEW)), OLD, None, "blue", NEW, True),
    ("going back to the old AMI", LiveState(blue=parked(OLD), green=serving(NEW)), OLD, None, "blue", NEW, True),
    (
        "pinned serving color, same AMI",
        LiveState(blue=serving(NEW), green=parked(OLD)),
        NEW,
        "blue",
        "blue",
        OLD,
        False,
    ),
    ("pinned idle color moves", LiveState(blue=serving(NEW), green=parked(OLD)), NEW, "green", "green", NEW, True),
    ("pinned, interrupted, on AMI", LiveState(blue=serving(OLD), green=serving(NEW)), NEW, "green", "green", OLD, True),
    (
        "same AMI both serving, declared wins",
        LiveState(blue=serving(NEW), green=serving(NEW, declared=True)),
        NEW,
        None,
        "green",
        NEW,
        True,
    ),
]


@pytest.mark.parametrize(
    ("case", "live", "ami", "pinned", "active", "idle_ami", "drain"), TABLE, ids=[r[0] for r in TABLE]
)
def test_color_selection_table(case, live, ami, pinned, active, idle_ami, drain):
    plan = select_colors(live, ami, pinned)
    assert (plan.active, plan.idle_ami, plan.drain_idle) == (active, idle_ami, drain)
    assert plan.idle != plan.active
    assert plan.active_ami == ami


REFUSED = [
    (
        "pinning the serving color while changing its AMI",
        LiveState(blue=serving(OLD), green=parked(OLD)),
        NEW,
        "blue",
        r"activeColor: blue is pinned and serving on ami-",
    ),
    (
        "pinned serving color in interrupted cutover with other AMI",
        LiveState(blue=serving(OLD), green=serving(NEW)),
        NEW,
        "blue",
        r"changing the AMI of the serving color",
    ),
    (
        "third AMI during an interrupted cutover",
        LiveState(blue=serving(OLD), green=serving(NEW)),
        THIRD,
        None,
        r"runs on neither serving color",
    ),
    (
        "both serving same AMI, nobody declared",
        LiveState(blue=serving(NEW), green=serving(NEW)),
        NEW,
        None,
        r"pin it with `pulumi config set activeColor",
    ),
]


@pytest.mark.parametrize(("case", "live", "ami", "pinned", "message"), REFUSED, ids=[r[0] for r in REFUSED])
def test_color_selection_refusals(case, live, ami, pinned, message):
    with pytest.raises(ColorSelectionError, match=message):
        select_colors(live, ami, pinned)


def test_unchanged_config_is_a_fixed_point():
    # After a cutover finishes, re-running with the same config keeps the color and drains nothing.
    before = LiveState(blue=serving(OLD), green=parked(OLD))
    plan = select_colors(before, NEW)
    after = LiveState(
        blue=parked(plan.idle_ami) if plan.idle == "blue" else serving(plan.active_ami),
        green=serving(plan.active_ami) if plan.active == "green" else parked(plan.idle_ami),
    )
    again = select_colors(after, NEW)
    assert (again.active, again.drain_idle) == (plan.active, False)


def test_plan_reason_says_what_is_drained():
    plan = select_colors(LiveState(blue=serving(OLD), green=parked(OLD)), NEW)
    assert "green" in plan.reason and "blue will be drained" in plan.reason


def test_plan_carries_the_live_size_only_of_a_serving_active_color():
    assert select_colors(LiveState(blue=serving(NEW, n=7)), NEW).active_live_desired == 7
    assert select_colors(LiveState(blue=serving(OLD, n=7)), NEW).active_live_desired is None
    assert select_colors(LiveState(), NEW).active_live_desired is None

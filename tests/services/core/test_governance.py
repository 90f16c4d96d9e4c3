"""The governance rules on their own: tags by presence, effective constraints, the dual gate."""

import random
from dataclasses import replace

import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from services.core.domain.governance import ALL_USES, CLASSIFICATION_RANK, DataClassification, UsageConstraints
from services.core.domain.qa_pair import PairStatus
from services.core.governance import (
    constraints_from_tags,
    effective_constraints,
    effective_constraints_params,
    effective_constraints_sql,
    tightened,
    unreadable_tags_rule,
    usable_for,
)

CLEARED = UsageConstraints(usage_reason="Reviewed: no PHI in an urgency label")


@pytest.mark.parametrize(
    "tags",
    [
        {"PHI": "restricted"},
        {"PII": "restricted"},
        {"PHI": "HIPAA"},
        {"PHI": "contains patient names"},
        {"phi": "false"},
        {"Pii": ""},
    ],
)
def test_a_phi_or_pii_tag_counts_whatever_its_value_and_the_case_of_its_key(tags):
    constraints = constraints_from_tags(tags)
    assert not constraints.permits("training") and not constraints.permits("validation")
    assert constraints.data_classification == "restricted"
    assert not constraints.all_uses_allowed


@pytest.mark.parametrize("value", ["true", "internal only", "no", "level 3"])
def test_a_confidential_tag_counts_whatever_its_value(value):
    constraints = constraints_from_tags({"Confidential": value})
    assert constraints.data_classification == "confidential"
    assert not constraints.permits("few_shot") and constraints.permits("training")


def test_other_tags_leave_every_use_allowed():
    assert constraints_from_tags({"owner": "billing", "PHI_reviewed_by": "ana"}).all_uses_allowed


def test_a_label_cleared_for_training_on_a_phi_source_stays_prohibited_and_says_which_rule_did_it():
    effective = effective_constraints(CLEARED, {"PHI": "true"})
    assert not effective.permits("training") and effective.data_classification == "restricted"
    assert effective.permits("evaluation")
    assert effective.usage_reason == "Source tagged PHI in Unity Catalog; label: Reviewed: no PHI in an urgency label"


def test_a_label_stricter_than_its_source_keeps_its_own_constraints_and_reason():
    held_out = UsageConstraints(("evaluation", "testing"), ("training", "validation", "few_shot"), "Held-out test set", "internal")
    assert effective_constraints(held_out, {}) == held_out
    combined = effective_constraints(held_out, {"CONFIDENTIAL": "yes"})
    assert combined.allowed_uses == ()  # allowed where both allow: nothing left
    assert combined.prohibited_uses == ("training", "validation", "evaluation", "few_shot")
    assert combined.data_classification == "confidential"
    assert combined.usage_reason.startswith("Source tagged CONFIDENTIAL in Unity Catalog; label: Held-out")


def test_an_unknown_classification_counts_as_the_strictest():
    odd = UsageConstraints(usage_reason="imported", data_classification="secret")
    assert effective_constraints(odd, {"CONFIDENTIAL": "1"}).data_classification == "restricted"


def test_a_pair_is_usable_only_when_labeled_and_its_constraints_permit_the_use():
    assert usable_for("labeled", CLEARED, "training")
    for status in ("unlabeled", "rejected", "flagged", "", None):
        assert not usable_for(status, CLEARED, "training")
    assert not usable_for("labeled", constraints_from_tags({"PHI": "x"}), "training")


uses = st.lists(st.sampled_from(ALL_USES), unique=True).map(tuple)
classifications = st.sampled_from([*(c.value for c in DataClassification), "", "unknown"])
constraints = st.builds(UsageConstraints, uses, uses, st.text(max_size=20), classifications)
tag_keys = st.sampled_from(["PHI", "phi", "PII", "Pii", "CONFIDENTIAL", "confidential", "owner", "domain"])
tags = st.dictionaries(tag_keys, st.text(max_size=12), max_size=4)
statuses = st.sampled_from([*(s.value for s in PairStatus), "", "approved"])


@given(status=statuses, label=constraints, source_tags=tags, use=st.sampled_from(ALL_USES))
def test_no_pair_failing_either_gate_is_usable(status, label, source_tags, use):
    effective = effective_constraints(label, source_tags)
    usable = usable_for(status, effective, use)
    assert usable == (status == "labeled" and label.permits(use) and constraints_from_tags(source_tags).permits(use))
    # Never looser than either side: what the label or the source forbids stays forbidden.
    assert set(effective.permitted_uses) <= set(label.permitted_uses) & set(constraints_from_tags(source_tags).permitted_uses)
    assert _rank(effective.data_classification) >= max(_rank(label.data_classification), _rank(_source_rule(source_tags)))


def _rank(classification):
    return CLASSIFICATION_RANK.get(str(classification), max(CLASSIFICATION_RANK.values()))


def _source_rule(source_tags):
    governed = any(k.upper() in ("PHI", "PII", "CONFIDENTIAL") for k in source_tags)
    return constraints_from_tags(source_tags).data_classification if governed else "public"


def test_the_sql_rule_gives_every_label_the_same_effective_constraints_as_python(workbench):
    """The warehouse path applies the rule in SQL: over many random labels and tag sets, it agrees."""
    rng = random.Random(20260907)
    reasons = ["", "Cleared by compliance", "Held-out"]
    labels = [
        UsageConstraints(
            tuple(u for u in ALL_USES if rng.random() < 0.6), tuple(u for u in ALL_USES if rng.random() < 0.3),
            rng.choice(reasons), rng.choice(["public", "internal", "confidential", "restricted", "secret"]),
        )
        for _ in range(200)
    ]
    labels = [replace(c, allowed_uses=tuple(u for u in c.allowed_uses if u not in c.prohibited_uses)) for c in labels]  # as stored
    engine = workbench.backend.engine
    engine.execute(
        "CREATE TABLE mirion_vital.workbench.rule_check (n INT, allowed_uses ARRAY<STRING>, prohibited_uses ARRAY<STRING>, "
        "usage_reason STRING, data_classification STRING)"
    )
    engine.insert_rows("mirion_vital.workbench.rule_check", pd.DataFrame({
        "n": range(len(labels)), "allowed_uses": [list(c.allowed_uses) for c in labels],
        "prohibited_uses": [list(c.prohibited_uses) for c in labels], "usage_reason": [c.usage_reason for c in labels],
        "data_classification": [c.data_classification for c in labels],
    }))
    sql = effective_constraints_sql("cl")
    inner = ", ".join(f"{sql[c]} AS {c}" for c in ("e_allowed_uses", "e_prohibited_uses", "e_data_classification"))
    for tags in ({}, {"PHI": "x"}, {"pii": "restricted"}, {"CONFIDENTIAL": "no"}, {"PHI": "1", "Confidential": "1"}, {"owner": "a"}):
        rows = engine.query(
            f"SELECT cl.n, cl.e_allowed_uses, cl.e_prohibited_uses, cl.e_data_classification, {sql['e_usage_reason']} AS e_usage_reason "
            f"FROM (SELECT cl.*, {inner} FROM mirion_vital.workbench.rule_check AS cl) AS cl ORDER BY cl.n",
            effective_constraints_params(tags),
        )
        for row, label in zip(rows, labels, strict=True):
            expected = effective_constraints(label, tags)
            got = UsageConstraints(tuple(row["e_allowed_uses"]), tuple(row["e_prohibited_uses"]), row["e_usage_reason"], row["e_data_classification"])
            assert (set(got.allowed_uses), set(got.prohibited_uses), got.usage_reason, got.data_classification) == (
                set(expected.allowed_uses), set(expected.prohibited_uses), expected.usage_reason, str(expected.data_classification),
            ), (label, tags)


@given(st.lists(st.sampled_from(ALL_USES)), st.lists(st.sampled_from(ALL_USES)), st.sampled_from(list(CLASSIFICATION_RANK)))
def test_a_source_whose_tags_cannot_be_read_permits_nothing_whatever_the_label_says(allowed, prohibited, classification):
    label = UsageConstraints(tuple(allowed), tuple(prohibited), "Cleared by an expert", classification)
    assume(label.permitted_uses)  # a label that permits nothing already keeps its own reason

    locked = tightened(label, unreadable_tags_rule("mirion_vital.raw.invoices", "the table no longer exists"))

    assert locked.permitted_uses == () and locked.data_classification == DataClassification.RESTRICTED
    assert locked.usage_reason.startswith("Unity Catalog tags of mirion_vital.raw.invoices could not be read (the table no longer exists)")

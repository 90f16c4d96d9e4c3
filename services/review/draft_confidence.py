"""What a draft's AI confidence means on a Training Sheet, for the review card and bulk approval.

The offline drafter's confidence is calibrated: the Training Sheet keeps the drafter's record
(services/generate/draft_calibration.py), so a card can say how often drafts at this confidence
agreed with the experts, and a bulk approval can say how many of the pairs it approves are
likely right. A confidence nobody measured (a model's own) is said to be just that, and a
bulk approval by such a confidence is refused: governance fails closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.core.domain.qa_pair import LabelingMode, QaPair
from services.core.workbench import Workbench
from services.generate.draft_calibration import DraftCalibration, calibration_in
from services.generate.training_sheets_store import TrainingSheetsStore

UNMEASURED = "not measured against the experts' labels (a model's own estimate, or a similarity from before drafts were calibrated)"


def draft_calibration(workbench: Workbench, training_sheet_id: str) -> DraftCalibration | None:
    """The drafter's record kept with the Training Sheet; None when its confidences were not measured."""
    store = TrainingSheetsStore(workbench.backend.engine, workbench.table("training_sheets"), workbench.table("qa_pairs"))
    config = store.generation_config(training_sheet_id)
    return calibration_in(config) if config is not None else None


@dataclass(frozen=True)
class ConfidenceNote:
    text: str
    no_suggestion: bool = False  # the drafter offered nothing: said beside the empty response


def confidence_note(calibration: DraftCalibration | None, pair: QaPair) -> ConfidenceNote | None:
    """What the review card says about a drafted pair's confidence."""
    if pair.labeling_mode != LabelingMode.AI_GENERATED:
        return None
    if calibration is None:
        return ConfidenceNote(f"AI confidence: {UNMEASURED}.") if pair.ai_confidence is not None else None
    if not calibration.offered:
        return ConfidenceNote(f"No suggestion from the offline drafter: {calibration.why_not_offered()}.", True)
    meaning = calibration.meaning(pair.ai_confidence)
    if not meaning:
        return None
    return ConfidenceNote(
        f"{meaning[0].upper()}{meaning[1:]} (each drafted from the others); always answering the most common label "
        f"agrees {calibration.majority_accuracy:.0%}."
    )


@dataclass(frozen=True)
class ExpectedAgreement:
    """How many of the pairs a bulk approval would approve are likely to be what an expert says."""

    pairs: int
    expected_agreed: float  # the sum of the pairs' measured agreement rates
    measured_on: int  # labeled items in the confidence bands the pairs fall in

    @property
    def rate(self) -> float:
        return self.expected_agreed / self.pairs if self.pairs else 0.0

    def sentence(self) -> str:
        right = round(self.expected_agreed)
        return (
            f"Drafts at these confidences agreed with experts {self.rate:.0%} of the time (measured on {self.measured_on} "
            f"labeled items): of these {self.pairs:,} pairs, expect about {right:,} to be what an expert would say "
            f"and {self.pairs - right:,} not."
        )


def expected_agreement(calibration: DraftCalibration | None, confidences: Sequence[float | None]) -> ExpectedAgreement | str:
    """The expected agreement of drafts with these confidences, or why it is unknown."""
    if not confidences:
        return ExpectedAgreement(0, 0.0, 0)
    if calibration is None:
        return f"their confidence is {UNMEASURED}"
    bands = [calibration.band_of(c) for c in confidences]
    unknown = sum(band is None for band in bands)
    if unknown:
        return f"{unknown:,} of them carry a confidence that no measurement on this sheet's expert labels gave"
    measured = {id(b): b.drafts for b in bands if b is not None}
    return ExpectedAgreement(len(bands), sum(b.agreement for b in bands if b is not None), sum(measured.values()))

"""Pure rules of the certificate pipeline: what an asset's certificates make of its status, and where a
certificate may move next. No database access: reads (assets.register.history) and writes (services) share them."""

from __future__ import annotations

from collections.abc import Iterable

from assets.register.models import DISPUTE_STAGES, MAIN_STAGES, CertificateStatus, Stage


def derive_certificate_status(certificates: Iterable[tuple[str, bool]]) -> tuple[str, str, bool]:
    """(status, leading stage, in dispute) from each certificate's (stage, has a number).

    - terbit: some certificate is issued (or is disputed/blocked but carries a number);
    - proses: some certificate is past BELUM in the pipeline, or disputed/blocked before issue;
    - belum: no certificate, or only BELUM or rejected ones.
    The leading stage is a dispute state when there is one, else the most advanced main stage,
    else DITOLAK when everything was rejected.
    """
    items = list(certificates)
    stages = {stage for stage, _numbered in items}
    disputed = bool(stages & set(DISPUTE_STAGES))
    if any(s == Stage.SERTIFIKAT_TERBIT or (s in DISPUTE_STAGES and numbered) for s, numbered in items):
        status = CertificateStatus.TERBIT
    elif stages & (set(MAIN_STAGES[1:]) | set(DISPUTE_STAGES)):
        status = CertificateStatus.PROSES
    else:
        status = CertificateStatus.BELUM
    leading: str
    if disputed:
        leading = Stage.SENGKETA if Stage.SENGKETA in stages else Stage.DIBLOKIR
    elif stages & set(MAIN_STAGES):
        leading = max(stages & set(MAIN_STAGES), key=MAIN_STAGES.index)
    elif Stage.DITOLAK in stages:
        leading = Stage.DITOLAK
    else:
        leading = Stage.BELUM
    return str(status), str(leading), disputed


def allowed_next_stages(current: str) -> list[str]:
    """The stages a certificate may move to from ``current``.

    Forward along the pipeline (steps may be skipped when BPN merges them), into dispute or
    blocking from anywhere, to rejection from anywhere before issue, and from a side state
    back into the pipeline.
    """
    side_states = [Stage.DITOLAK, *DISPUTE_STAGES]
    if current in MAIN_STAGES:
        forward = list(MAIN_STAGES[MAIN_STAGES.index(current) + 1 :])
        rejection = [] if current == Stage.SERTIFIKAT_TERBIT else [Stage.DITOLAK]
        return [*forward, *rejection, *DISPUTE_STAGES]
    return [s for s in [*MAIN_STAGES[1:], *side_states] if s != current]

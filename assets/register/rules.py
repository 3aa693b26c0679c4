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


# derive_certificate_status as numbers, for SQL (the as-of reads of assets.register.history and the status spans
# of assets.register.history_validity): the status is the highest code among the certificates' (0 without any), the
# leading stage the stage of the highest rank (a dispute state, SENGKETA before DIBLOKIR; else the most advanced
# main stage, BELUM included; else DITOLAK; no certificate: BELUM), in dispute when that rank is DISPUTE_RANK or more.
STATUS_CODE: dict[str, int] = {CertificateStatus.BELUM: 0, CertificateStatus.PROSES: 1, CertificateStatus.TERBIT: 2}
STAGE_RANK: dict[str, int] = {
    Stage.DITOLAK: 1,
    **{stage: 10 + index for index, stage in enumerate(MAIN_STAGES)},
    Stage.DIBLOKIR: 99,
    Stage.SENGKETA: 100,
}
DISPUTE_RANK = STAGE_RANK[Stage.DIBLOKIR]


def _sql_list(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def certificate_code_sql(row: str) -> str:
    """SQL of one certificate's status code (a certificate row ``row`` with ``stage`` and ``nomor``)."""
    terbit, proses = STATUS_CODE[CertificateStatus.TERBIT], STATUS_CODE[CertificateStatus.PROSES]
    return (
        f"CASE WHEN {row}.stage = '{Stage.SERTIFIKAT_TERBIT}' OR ({row}.stage IN ({_sql_list(DISPUTE_STAGES)}) "
        f"AND {row}.nomor <> '') THEN {terbit} "
        f"WHEN {row}.stage IN ({_sql_list((*MAIN_STAGES[1:], *DISPUTE_STAGES))}) THEN {proses} ELSE 0 END"
    )


def certificate_rank_sql(row: str) -> str:
    """SQL of one certificate's stage rank."""
    whens = " ".join(f"WHEN '{stage}' THEN {rank}" for stage, rank in STAGE_RANK.items())
    return f"CASE {row}.stage {whens} ELSE 0 END"


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

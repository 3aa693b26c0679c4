"""Every model of the app, for Django's app registry and the migrations (which name ``assets.models``).

Each room keeps its models in its own ``models.py``; code inside ``assets`` imports them from there, so that the
import contract (``make lint``) sees which room depends on which.
"""

from assets.encumbrance.models import CaseStageEvent, DisputeCase, Payment, Utilisation
from assets.evidence.models import CustodyEvent, Document, DocumentRequirement, DocumentType, StoragePlace
from assets.field.models import Assignment, AssignmentMove, Campaign, FieldResult, Package, ResultPhoto, Team
from assets.ledger.models import (
    AgencyTransfer,
    AssetSubUnit,
    Decision,
    OfficerSubUnit,
    OfficialRow,
    OpeningBalance,
    ReconciliationItem,
    ReconciliationRun,
    SubUnit,
)
from assets.maps.models import AssetCell, RegisterVersion
from assets.public.models import PublicationPolicy, PublicExclusion, PublicLookup, PublicReport
from assets.register.models import (
    DISPUTE_STAGES,
    MAIN_STAGES,
    AdministrativeArea,
    Agency,
    AsalUsul,
    Certificate,
    CertificateStageEvent,
    CertificateStatus,
    JenisHak,
    LandAsset,
    PlottingStatus,
    Signatory,
    Stage,
    User,
    validate_kode_barang,
    validate_nib,
    validate_nomor_register,
)
from assets.transfer.models import AgencyMapping, ImportJob, PrintJob

__all__ = [
    "AgencyMapping",
    "AgencyTransfer",
    "AssetSubUnit",
    "CaseStageEvent",
    "DisputeCase",
    "Payment",
    "Utilisation",
    "DISPUTE_STAGES",
    "MAIN_STAGES",
    "AdministrativeArea",
    "Agency",
    "AsalUsul",
    "AssetCell",
    "Assignment",
    "AssignmentMove",
    "Campaign",
    "Certificate",
    "CustodyEvent",
    "Decision",
    "Document",
    "DocumentRequirement",
    "DocumentType",
    "FieldResult",
    "StoragePlace",
    "SubUnit",
    "CertificateStageEvent",
    "CertificateStatus",
    "ImportJob",
    "JenisHak",
    "LandAsset",
    "OfficerSubUnit",
    "OfficialRow",
    "OpeningBalance",
    "Package",
    "PlottingStatus",
    "PublicationPolicy",
    "PublicExclusion",
    "PublicLookup",
    "PublicReport",
    "ReconciliationItem",
    "ReconciliationRun",
    "RegisterVersion",
    "PrintJob",
    "ResultPhoto",
    "Signatory",
    "Stage",
    "Team",
    "User",
    "validate_kode_barang",
    "validate_nib",
    "validate_nomor_register",
]

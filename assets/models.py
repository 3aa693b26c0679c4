"""Every model of the app, for Django's app registry and the migrations (which name ``assets.models``).

Each room keeps its models in its own ``models.py``; code inside ``assets`` imports them from there, so that the
import contract (``make lint``) sees which room depends on which.
"""

from assets.evidence.models import CustodyEvent, Document, DocumentRequirement, DocumentType, StoragePlace
from assets.field.models import Assignment, Campaign, FieldResult, Package, ResultPhoto, Team
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
from assets.transfer.models import AgencyMapping, ImportJob

__all__ = [
    "AgencyMapping",
    "DISPUTE_STAGES",
    "MAIN_STAGES",
    "AdministrativeArea",
    "Agency",
    "AsalUsul",
    "AssetCell",
    "Assignment",
    "Campaign",
    "Certificate",
    "CustodyEvent",
    "Document",
    "DocumentRequirement",
    "DocumentType",
    "FieldResult",
    "StoragePlace",
    "CertificateStageEvent",
    "CertificateStatus",
    "ImportJob",
    "JenisHak",
    "LandAsset",
    "Package",
    "PlottingStatus",
    "PublicationPolicy",
    "PublicExclusion",
    "PublicLookup",
    "PublicReport",
    "RegisterVersion",
    "ResultPhoto",
    "Signatory",
    "Stage",
    "Team",
    "User",
    "validate_kode_barang",
    "validate_nib",
    "validate_nomor_register",
]

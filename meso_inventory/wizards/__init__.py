from . import meso_audit_clinic_mixin
from . import meso_audit_export
from . import meso_audit_count_import
from . import meso_opened_vial_discard
from . import meso_lot_recall
from . import meso_lot_recall_report

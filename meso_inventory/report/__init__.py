from . import meso_audit_xlsx
from . import meso_audit_collector
from . import meso_ingredient_usage_report
from . import report_meso_lot_recall
from . import report_meso_treatment_record

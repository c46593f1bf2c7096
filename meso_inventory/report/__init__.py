from . import meso_audit_xlsx

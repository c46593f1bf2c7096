from . import meso_audit_export

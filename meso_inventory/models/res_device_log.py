from odoo import api, models


class ResDeviceLog(models.Model):
    _inherit = "res.device.log"

    @api.model
    def _update_device(self, request):
        """Odoo writes the hourly device log within the request's transaction, or through
        a cursor of its own when the request's cursor is read-only. Here always through a
        cursor of its own, as for read-only requests: the trace does not depend on the
        request's outcome, and a request that wrote nothing else may restart its
        transaction to wait for a clinic's stock (meso.treatment.session._meso_lock_stock)
        instead of meeting a serialization failure."""
        if self.env.cr.readonly or self.env.registry.in_test_mode():
            return super()._update_device(request)
        with self.env.registry.cursor() as cr:
            return super(ResDeviceLog, self.with_env(self.env(cr=cr)))._update_device(request)

from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestUiClickbot(HttpCase):
    """Odoo's clickbot opens every menu, view and filter of the app in Chromium and
    fails on any client error: a view that does not render cannot hide."""

    allow_end_on_form = True

    def test_click_every_menu_of_the_app(self):
        self.env.ref("base.user_admin").tour_enabled = False
        self.browser_js(
            "/odoo",
            "odoo.loader.modules.get('@web/webclient/clickbot/clickbot_loader')"
            ".startClickEverywhere('meso_inventory.meso_root_menu');",
            "odoo.isReady === true",
            login="admin",
            timeout=600,
            success_signal="clickbot test succeeded",
        )

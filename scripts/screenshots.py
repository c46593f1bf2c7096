"""Screenshots of the main screens for the README, from a running demo database.

Start `make run` first, then: `$MESO_VENV/bin/python scripts/screenshots.py`.
Headless Chromium is driven over its DevTools protocol on 127.0.0.1 only.
"""

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import xmlrpc.client

import websocket

BASE = os.environ.get("MESO_URL", "http://127.0.0.1:8069")
DB = os.environ.get("MESO_DB", "meso_demo")
OUT = os.path.join(os.path.dirname(__file__), "..", "docs", "screenshots")
DEVTOOLS_PORT = 9333


def record_id(xmlid):
    common = xmlrpc.client.ServerProxy(f"{BASE}/xmlrpc/2/common")
    uid = common.authenticate(DB, "admin", "admin", {})
    models = xmlrpc.client.ServerProxy(f"{BASE}/xmlrpc/2/object")
    module, name = xmlid.split(".")
    data = models.execute_kw(
        DB, uid, "admin", "ir.model.data", "search_read",
        [[("module", "=", module), ("name", "=", name)]], {"fields": ["res_id"]},
    )
    return data[0]["res_id"]


def session_cookie():
    request = urllib.request.Request(
        f"{BASE}/web/session/authenticate",
        data=json.dumps({"jsonrpc": "2.0", "params": {"db": DB, "login": "admin", "password": "admin"}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        for header in response.headers.get_all("Set-Cookie"):
            if header.startswith("session_id="):
                return header.split(";")[0].split("=", 1)[1]
    sys.exit("could not log in as admin")


class Browser:
    def __init__(self):
        self.profile = tempfile.mkdtemp()
        self.process = subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--remote-debugging-port={DEVTOOLS_PORT}", "--remote-debugging-address=127.0.0.1",
             f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(50):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{DEVTOOLS_PORT}/json") as response:
                    pages = [t for t in json.load(response) if t["type"] == "page"]
                break
            except OSError:
                time.sleep(0.2)
        self.socket = websocket.create_connection(pages[0]["webSocketDebuggerUrl"])
        self.counter = 0

    def call(self, method, **params):
        self.counter += 1
        self.socket.send(json.dumps({"id": self.counter, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.counter:
                return message.get("result")

    def close(self):
        self.socket.close()
        self.process.kill()


def main():
    os.makedirs(OUT, exist_ok=True)
    screens = {
        "dashboard": "/odoo/action-meso_inventory.stock_warehouse_action_meso_dashboard",
        "patient": f"/odoo/action-meso_inventory.meso_patient_action/{record_id('meso_inventory.meso_patient_claire_demo')}",
        "formulation": f"/odoo/action-meso_inventory.meso_formulation_action/{record_id('meso_inventory.meso_formulation_claire_face_demo')}",
        "session": f"/odoo/action-meso_inventory.meso_treatment_session_action/{record_id('meso_inventory.meso_treatment_session_julie_1_demo')}",
        "calendar": "/odoo/action-meso_inventory.meso_treatment_session_action_calendar",
        "lots": "/odoo/action-meso_inventory.stock_lot_action_expiry",
        "vial": f"/odoo/action-meso_inventory.product_template_action_vial/{record_id('meso_inventory.product_template_multivit_demo')}",
        "replenishment": "/odoo/action-meso_inventory.stock_warehouse_orderpoint_action",
        "ingredients_report": "/odoo/action-meso_inventory.meso_ingredient_usage_report_action",
    }
    browser = Browser()
    try:
        host = BASE.split("//", 1)[1].split(":")[0]
        browser.call("Network.enable")
        browser.call("Network.setCookie", name="session_id", value=session_cookie(), domain=host, path="/")
        browser.call("Emulation.setDeviceMetricsOverride", width=1440, height=900, deviceScaleFactor=1, mobile=False)
        browser.call("Page.navigate", url=BASE + "/odoo")  # the first visit builds the assets
        time.sleep(15)
        for name, url in screens.items():
            browser.call("Page.navigate", url=BASE + url)
            time.sleep(5)
            shot = browser.call("Page.captureScreenshot", format="png")["data"]
            with open(os.path.join(OUT, f"{name}.png"), "wb") as image:
                image.write(base64.b64decode(shot))
            print("saved", name)
    finally:
        browser.close()


if __name__ == "__main__":
    main()

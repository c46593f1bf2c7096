/** @odoo-module **/
import { registry } from "@web/core/registry";

// What a keyboard-wedge scanner types for the vial's DataMatrix: GTIN, expiry, lot,
// then the FNC1 as Alt + 029 on the keypad, then the serial, then Enter.
const KEYS = [..."01054123451000721729123110TOUR-SCAN-1", "Alt", ..."029", ..."21SN-7", "Enter"];

function scan(keys) {
    for (const key of keys) {
        document.body.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true }));
    }
}

// A practitioner scans the vial she takes: the session's line gets its lot.
registry.category("web_tour.tours").add("meso_scan_tour", {
    steps: () => [
        {
            content: "The session waits for a scan",
            trigger: ".o_meso_scan_vial",
        },
        {
            content: "The line has no lot yet",
            trigger: ".o_field_widget[name=line_ids] .o_data_row .o_data_cell[name=lot_id]:not(:contains('TOUR-SCAN-1'))",
        },
        {
            content: "Scan the vial",
            trigger: ".o_form_view .o_form_sheet",
            run: () => scan(KEYS),
        },
        {
            content: "The lot is filled",
            trigger: ".o_field_widget[name=line_ids] .o_data_cell[name=lot_id]:contains('TOUR-SCAN-1')",
        },
        {
            content: "A vial of an unknown product is refused",
            trigger: ".o_form_view .o_form_sheet",
            run: () => scan([..."0105412345100041", "Enter"]),
        },
        {
            trigger: ".o_notification:contains('No product has the GTIN 05412345100041')",
        },
    ],
});

/** @odoo-module **/
import { registry } from "@web/core/registry";

// The practitioner's landing screen: her sessions of today, completed from the list.
registry.category("web_tour.tours").add("meso_practitioner_day_tour", {
    url: "/odoo/action-meso_inventory.meso_treatment_session_action",
    steps: () => [
        {
            content: "The list opens on her sessions",
            trigger: ".o_searchview_facet:contains('Mine')",
        },
        {
            content: "of today",
            trigger: ".o_searchview_facet:contains('Today')",
        },
        {
            content: "Today's session: time, patient, area, formulation, screening",
            trigger:
                ".o_data_row:contains('Day Patient'):contains('Face'):contains('Day face hydration')",
        },
        {
            trigger: ".o_data_row:contains('Day Pregnant') .badge:contains('Contraindicated')",
        },
        {
            content: "Neither her colleague's session nor tomorrow's",
            trigger:
                ".o_list_renderer:not(:has(.o_data_row:contains('Colleague Patient'))):not(:has(.o_data_row:contains('Tomorrow Patient')))",
        },
        {
            content: "Complete the session from its row",
            trigger: ".o_data_row:contains('Day Patient') button[name=action_done]",
            run: "click",
        },
        {
            trigger: ".modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "The row says it is done",
            trigger: ".o_data_row:contains('Day Patient') .o_field_widget[name=state]:contains('Done')",
        },
        {
            content: "Open it",
            trigger: ".o_data_row:contains('Day Patient') .o_data_cell[name=patient_id]",
            run: "click",
        },
        {
            content: "The session is done and shows the lot it took",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('Done')",
        },
        {
            trigger: ".o_field_widget[name=line_ids] .badge:contains('TOUR-LOT-1')",
        },
    ],
});

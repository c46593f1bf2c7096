/** @odoo-module **/
import { registry } from "@web/core/registry";

// A practitioner's day: open a patient, give her a formulation, plan the course,
// complete today's session and see the lot it took.
registry.category("web_tour.tours").add("meso_practitioner_tour", {
    url: "/odoo/action-meso_inventory.meso_patient_action",
    steps: () => [
        {
            content: "Open the patient",
            trigger: ".o_data_row .o_data_cell:contains('Tour Patient')",
            run: "click",
        },
        {
            content: "Her screening is on the form",
            trigger: ".o_field_widget[name=allergy_ingredient_ids] .badge:contains('Tour vitamin C')",
        },
        {
            content: "Formulations of the patient",
            trigger: ".o_notebook .nav-link:contains('Formulations')",
            run: "click",
        },
        {
            content: "Add a formulation",
            trigger: ".o_field_widget[name=formulation_ids] .o_field_x2many_list_row_add a",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name=name] input",
            run: "edit Tour face hydration",
        },
        {
            content: "Add a vial to the formulation",
            trigger: ".modal .o_field_widget[name=line_ids] .o_field_x2many_list_row_add a",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name=product_id] input",
            run: "edit Tour HA booster",
        },
        {
            trigger: ".ui-autocomplete .dropdown-item:contains('Tour HA booster')",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name=volume_ml] input",
            run: "edit 2",
        },
        {
            content: "Save the formulation",
            trigger: ".modal .o_form_button_save",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
        {
            content: "Save the patient",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            trigger: ".o_form_saved",
        },
        {
            content: "Go to the formulations",
            trigger: ".o_menu_sections button:contains('Patients')",
            run: "click",
        },
        {
            trigger: ".dropdown-item:contains('Formulations')",
            run: "click",
        },
        {
            trigger: ".o_data_row .o_data_cell:contains('Tour face hydration')",
            run: "click",
        },
        {
            content: "Plan the course",
            trigger: "button[name=action_plan_course]",
            run: "click",
        },
        {
            content: "The course is in the calendar; look at it as a list",
            trigger: ".o_calendar_renderer",
        },
        {
            trigger: ".o_switch_view.o_list",
            run: "click",
        },
        {
            content: "Open today's session (the earliest)",
            trigger: ".o_data_row:first-child .o_data_cell[name=name]",
            run: "click",
        },
        {
            content: "Complete it",
            trigger: ".o_form_view .o_form_statusbar button[name=action_done]",
            run: "click",
        },
        {
            trigger: ".modal-footer .btn-primary",
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

/** @odoo-module **/
import { registry } from "@web/core/registry";

// A clinic manager's round: the dashboard, the lots about to expire, the audit export.
registry.category("web_tour.tours").add("meso_manager_tour", {
    url: "/odoo/action-meso_inventory.stock_warehouse_action_meso_dashboard",
    steps: () => [
        {
            content: "The clinic's card counts the lots expiring soon",
            trigger: ".o_kanban_record:contains('Tour clinic') button[name=action_meso_open_expiring]",
            run: "click",
        },
        {
            content: "They are grouped by expiry",
            trigger: ".o_group_name:contains('Within 30 days')",
            run: "click",
        },
        {
            trigger: ".o_data_row .o_data_cell:contains('TOUR-NEAR')",
        },
        {
            content: "Export the stock for the auditors",
            trigger: ".o_menu_sections button:contains('Reporting')",
            run: "click",
        },
        {
            trigger: ".dropdown-item:contains('Stock audit export')",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name=pseudonymise] input",
            run: "click",
        },
        {
            trigger: ".modal button[name=action_export]",
            run: "click",
        },
        {
            content: "The workbook is on its way",
            trigger: "body",
        },
    ],
});

/** @odoo-module **/
import { registry } from "@web/core/registry";

const CARD = ".o_kanban_record:contains('Chart clinic')";

// Click a bar of one of the clinic's charts where Chart.js drew it.
function clickBar(chart, index) {
    const card = [...document.querySelectorAll(".o_kanban_record")].find((record) =>
        record.textContent.includes("Chart clinic")
    );
    const canvas = card.querySelector(`.${chart} canvas`);
    const bar = Chart.getChart(canvas).getDatasetMeta(0).data[index];
    const rect = canvas.getBoundingClientRect();
    const position = { clientX: rect.left + bar.x - 2, clientY: rect.top + bar.y + 2 };
    canvas.dispatchEvent(new MouseEvent("click", { ...position, bubbles: true }));
}

// The clinic manager's morning: the card's charts, each figure opening its list.
registry.category("web_tour.tours").add("meso_dashboard_tour", {
    url: "/odoo/action-meso_inventory.stock_warehouse_action_meso_dashboard",
    steps: () => [
        {
            content: "The ml injected per week are drawn",
            trigger: `${CARD} .o_meso_chart_injected canvas`,
        },
        {
            content: "So are the vials with the fewest days of cover",
            trigger: `${CARD} .o_meso_chart_cover canvas`,
        },
        {
            content: "This week's bar opens this week's consumption",
            trigger: `${CARD} .o_meso_chart_injected canvas`,
            run: () => clickBar("o_meso_chart_injected", 11),
        },
        {
            trigger: ".o_list_view .o_data_row .o_data_cell:contains('CH-FAR')",
        },
        {
            trigger: ".o_breadcrumb .o_back_button, .o_breadcrumb .breadcrumb-item a",
            run: "click",
        },
        {
            content: "The vial with the fewest days of cover opens its rule",
            trigger: `${CARD} .o_meso_chart_cover canvas`,
            run: () => clickBar("o_meso_chart_cover", 0),
        },
        {
            trigger: ".o_list_view .o_data_row .o_data_cell:contains('Chart booster')",
        },
        {
            trigger: ".o_breadcrumb .o_back_button, .o_breadcrumb .breadcrumb-item a",
            run: "click",
        },
        {
            content: "The stock value expiring within 30 days opens the vials it values",
            trigger: `${CARD} button[name=action_meso_open_expiring_30]`,
            run: "click",
        },
        {
            trigger: ".o_list_view .o_data_row .o_data_cell:contains('CH-NEAR')",
        },
    ],
});

/** @odoo-module **/
import { Component, onWillStart, useEffect, useRef } from "@odoo/owl";
import { loadBundle } from "@web/core/assets";
import { getColor } from "@web/core/colors/colors";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

/**
 * A small bar chart of a dashboard card, drawn with the Chart.js that the web client
 * ships (the bundle its graph views load). The field holds JSON computed on the
 * record: labels, values, the key of each bar and the record method that opens the
 * list behind a bar (called with that key).
 */
export class MesoDashboardChart extends Component {
    static template = "meso_inventory.MesoDashboardChart";
    static props = { ...standardFieldProps };

    setup() {
        this.canvasRef = useRef("canvas");
        this.orm = useService("orm");
        this.action = useService("action");
        this.chart = null;
        onWillStart(() => loadBundle("web.chartjs_lib"));
        useEffect(
            () => {
                this.renderChart();
                return () => this.chart?.destroy();
            },
            () => [this.props.record.data[this.props.name]]
        );
    }

    get data() {
        return JSON.parse(this.props.record.data[this.props.name] || "{}");
    }

    renderChart() {
        this.chart?.destroy();
        const data = this.data;
        const horizontal = Boolean(data.horizontal);
        const valueAxis = { beginAtZero: true, ticks: { precision: 0 } };
        this.chart = new Chart(this.canvasRef.el, {
            type: "bar",
            data: {
                labels: data.labels || [],
                datasets: [
                    {
                        label: data.label,
                        data: data.values || [],
                        backgroundColor: getColor(horizontal ? 2 : 1, "light", "odoo"),
                    },
                ],
            },
            options: {
                indexAxis: horizontal ? "y" : "x",
                maintainAspectRatio: false,
                plugins: { legend: { display: false } },
                scales: horizontal ? { x: valueAxis } : { y: valueAxis },
                onClick: (event, elements) => {
                    if (elements.length) {
                        this.openBar(elements[0].index);
                    }
                },
                onHover: (event, elements) => {
                    event.native.target.style.cursor = elements.length ? "pointer" : "default";
                },
            },
        });
    }

    async openBar(index) {
        const { method, keys } = this.data;
        const action = await this.orm.call(this.props.record.resModel, method, [
            [this.props.record.resId],
            keys[index],
        ]);
        await this.action.doAction(action);
    }
}

registry.category("fields").add("meso_dashboard_chart", {
    component: MesoDashboardChart,
    supportedTypes: ["text"],
});

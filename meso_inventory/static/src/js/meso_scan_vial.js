/** @odoo-module **/
import { Component } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { RPCError } from "@web/core/network/rpc";
import { Mutex } from "@web/core/utils/concurrency";
import { registry } from "@web/core/registry";
import { useBus, useService } from "@web/core/utils/hooks";
import { standardWidgetProps } from "@web/views/widgets/standard_widget_props";

/**
 * Hands what a keyboard-wedge scanner typed (the web client's barcode service) to the
 * record's `scan_vial`: the record is saved first, reloaded after. A refusal is shown
 * as a notification, and the form stays as it was.
 */
export class MesoScanVial extends Component {
    static template = "meso_inventory.MesoScanVial";
    static props = { ...standardWidgetProps };

    setup() {
        this.orm = useService("orm");
        this.notification = useService("notification");
        // a scanner reads faster than the server answers: one scan after the other
        this.mutex = new Mutex();
        useBus(useService("barcode").bus, "barcode_scanned", (ev) =>
            this.mutex.exec(() => this.onScan(ev.detail.barcode))
        );
    }

    async onScan(barcode) {
        const record = this.props.record;
        if (!(await record.save())) {
            return;
        }
        try {
            await this.orm.call(record.resModel, "scan_vial", [[record.resId], barcode]);
        } catch (error) {
            if (!(error instanceof RPCError)) {
                throw error;
            }
            this.notification.add(error.data.message, {
                title: _t("Scan refused"),
                type: "danger",
            });
            return;
        }
        await record.load();
        this.notification.add(_t("Vial scanned."), { type: "success" });
    }
}

registry.category("view_widgets").add("meso_scan_vial", { component: MesoScanVial });

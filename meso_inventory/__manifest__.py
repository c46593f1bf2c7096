{
    "name": "Mesotherapy Inventory",
    "summary": "Vials, active ingredients, lots and expiry for aesthetic clinics "
    "that offer mesotherapy",
    "version": "18.0.1.0.0",
    "category": "Inventory/Inventory",
    "website": "https://github.com/meso-inventory/meso_inventory",
    "author": "meso_inventory contributors",
    "license": "LGPL-3",
    "depends": ["stock", "product_expiry", "purchase_stock", "mail"],
    "external_dependencies": {"python": ["xlsxwriter"]},
    "data": [
        "security/meso_inventory_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron_data.xml",
        "views/meso_ingredient_views.xml",
        "views/product_template_views.xml",
        "views/stock_lot_views.xml",
        "views/menus.xml",
    ],
    "demo": [
        "demo/meso_ingredient_demo.xml",
        "demo/product_demo.xml",
        "demo/stock_lot_demo.xml",
    ],
    "post_init_hook": "post_init_hook",
    "application": True,
}

from . import meso_ingredient
from . import meso_composition_line
from . import product_template
from . import stock_lot
from . import stock_move_line
from . import stock_warehouse

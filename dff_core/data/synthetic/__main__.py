"""``python -m dff_core.data.synthetic``: write the synthetic sample city, or ``... network --net FILE --out DIR``
to simulate readings for a given road network."""

import sys

from dff_core.data.synthetic.city import main as city_main
from dff_core.data.synthetic.network import main as network_main

if len(sys.argv) > 1 and sys.argv[1] == "network":
    network_main(sys.argv[2:])
else:
    city_main()

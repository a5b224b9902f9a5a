"""``python -m dff_core.data.synthetic``: write the synthetic sample city."""

from dff_core.data.synthetic.city import main

main()

"""One module per area; each exposes add(subparsers) and the functions it wires."""

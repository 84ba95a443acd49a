"""The timeline's widgets: the lanes, the ruler, the panels around them."""

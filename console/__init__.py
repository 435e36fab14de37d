"""The dispatch center's console: static ES modules and the small server that hands them out."""

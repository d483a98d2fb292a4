"""The data map: how one downstream database holds personal data, and what follows from it.

A library below the parts: it knows SQL databases (through SQLAlchemy) and the map document,
never requests or Django models. ``fanout`` stores a system's map and runs the queries this
package generates; ``legal`` reads its coverage.
"""

"""Routing domain: county package, location, classification, flags and the routing decision (pure)."""

from .classify import Classifier, normalize_text
from .county import Area, CountyPackage, CountyPackageError, GazetteerEntry, Taxonomy, Unit
from .decide import decide
from .flags import detect_flags
from .geo import AddressMatch, Locator
from .models import (
    FLAG_NAMES,
    CategoryChoice,
    Jurisdiction,
    RouteDecision,
    RouteRequest,
    RoutingRules,
    UnitRef,
)

__all__ = [
    "FLAG_NAMES",
    "AddressMatch",
    "Area",
    "CategoryChoice",
    "Classifier",
    "CountyPackage",
    "CountyPackageError",
    "GazetteerEntry",
    "Jurisdiction",
    "Locator",
    "RouteDecision",
    "RouteRequest",
    "RoutingRules",
    "Taxonomy",
    "Unit",
    "UnitRef",
    "decide",
    "detect_flags",
    "normalize_text",
]

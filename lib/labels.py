"""A label set: what one value of a metric is for (a route, a host, a vital...).

Alert sources answer values per label set, and alerts are kept per label set;
the apps' alert sources and their window readers share this one shape.
"""

# Sorted (name, value) pairs. () is the whole, unsplit metric.
Labels = tuple[tuple[str, str], ...]

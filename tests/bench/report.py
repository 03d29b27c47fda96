"""The one output format of every benchmark."""


def bench(name: str, value: float, unit: str, op: str, target: float) -> bool:
    """Print `BENCH <name> <value> <unit> target <op> <value>`; return whether it is met."""
    checks = {
        "<=": value <= target,
        ">=": value >= target,
        "<": value < target,
        ">": value > target,
        "==": value == target,
    }
    if op not in checks:
        raise ValueError(f"unknown operator {op!r}")
    print(f"BENCH {name} {value:.6g} {unit} target {op} {target:g}", flush=True)
    return checks[op]

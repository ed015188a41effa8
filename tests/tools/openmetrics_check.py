"""Parses an OpenMetrics text exposition from stdin with the reference parser of the Python
`prometheus_client` package (pinned in requirements.txt) and prints each family's name, type,
help and sample count as JSON. A body the parser rejects exits 1 with its error.

Run by crates/ward/tests/it/tools.rs on what `ward serve` answers at /metrics when asked for
OpenMetrics. Reads stdin only: no network, no files.
"""

import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families


def main() -> int:
    body = sys.stdin.read()
    try:
        families = [
            {
                "name": family.name,
                "type": family.type,
                "help": family.documentation,
                "samples": [
                    {"name": s.name, "labels": s.labels, "value": s.value}
                    for s in family.samples
                ],
            }
            for family in text_string_to_metric_families(body)
        ]
    except ValueError as error:
        print(f"not OpenMetrics: {error}", file=sys.stderr)
        return 1
    json.dump(families, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())

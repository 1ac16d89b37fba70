# SPDX-License-Identifier: LGPL-2.1-or-later
"""The top level of a benchmark's --json document, checked against a spec
({key: type}); shared by check-bench.py and check-pool-bench.py."""


def top_level(doc, spec):
    """What is wrong with @doc's top level: a list of sentences, empty if nothing."""
    if not isinstance(doc, dict):
        return ["the output is not a JSON object"]
    return [f"top-level '{k}' missing or not {t.__name__}"
            for k, t in spec.items() if not isinstance(doc.get(k), t)]

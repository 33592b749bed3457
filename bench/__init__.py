"""``make bench``: what costs money and latency in the image service, measured.

Sections (each writes ``bench/results/<section>.json``):

- ``calls``    AWS calls per operation through the real handlers against moto, beside the design minimum
- ``reads``    items DynamoDB reads per listed page as the collection grows (20 / 2,000 / 20,000)
- ``cold``     import time of each function's handler module vs bare boto3 + its two clients
- ``memory``   peak memory of one upload of the largest allowed image, as a multiple of its size
- ``package``  size of each built function and of the built layers (``sam build`` output)
- ``local``    the local mode (``make serve``): time to first answer, requests/s and latency
- ``cost``     dollars for a million of each operation and for storing a million photos a month

``python -m bench.scaling`` (not a section): per-key load at high upload rates and sharded tag
pages, simulated (docs/scaling.md). ``python -m bench.parse_probe`` (not a section): the CPU a
function's worker spends parsing a 21-item Query answer, botocore's parser against the local mode's
short path (``localapi.fast_dynamodb_parser``).
"""

import sys
from pathlib import Path

# The layer (``image_service``) and the local mode (``localapi``) are imported the way the tests
# import them: from the source tree.
_ROOT = Path(__file__).resolve().parent.parent
for _path in (_ROOT / "local", _ROOT / "layers" / "imaging", _ROOT / "layers" / "storage"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

"""Storage helpers shared by the image service's functions (the Lambda layer).

One module per concern:

- ``config``       settings read once from the environment
- ``errors``       the domain exceptions, each carrying its HTTP status and error code
- ``models``       the image object and a page of images
- ``ids``          time-ordered image ids
- ``identity``     who is calling (the token's ``sub``, or the open mode's ``user_id``)
- ``validation``   parsing and checking client input
- ``imaging``      recognising image bytes, thumbnails  } in the imaging layer (layers/imaging),
- ``heif``         HEIC/HEIF brands, boxes, pillow-heif  } with Pillow and pillow-heif: the
- ``location``     removing GPS data from photos         } upload function only
- ``cursors``      signed, opaque pagination cursors; ``secret_store`` reads their key at cold start
- ``images_repository`` / ``tag_index`` / ``blob_store``  DynamoDB and S3 access (``aws``: clients
  and the translation of AWS errors; ``download_urls``: pre-signed GET URLs, botocore's at a
  fraction of its cost)
- ``object_keys`` / ``object_removal``  the bucket's key layout (and why a finalisation writes
  keys of its own), and deleting objects with S3's own answer deciding what is left
- ``uploads`` / ``reads`` / ``edits``  the use cases (upload and direct upload; get, download and
  list; edit and delete), each built from ``Settings`` (``use_case``)
- ``idempotency`` / ``duplicates`` / ``etags``  Idempotency-Key replays, same-file uploads, ETag
  preconditions
- ``http``         API Gateway proxy responses and the error shape
- ``log`` / ``metrics``  structured JSON logs and CloudWatch EMF metrics
"""

import pkgutil

# The imaging layer adds modules to this package from a folder of its own. In Lambda both layers
# are unpacked into /opt/python and the folders merge; where each layer is its own import path
# entry (the local mode, tests), this makes the package span them all.
__path__ = pkgutil.extend_path(__path__, __name__)

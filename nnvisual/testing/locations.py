"""Where the tests' data lies in a checkout: the stored fixtures and the shared sample photos.

Both are found from the repository root, the folder above the ``nnvisual`` package of a checkout
(``/work/<checkout>``): ``tests/fixtures`` inside it, and the ImageNet sample photos in the
``shared`` folder beside it (``/work/shared/data/imagenet-samples``); tests skip when the photos
are absent.
"""

from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
TEST_FIXTURES = REPOSITORY / "tests" / "fixtures"
PHOTOS = REPOSITORY.parent / "shared" / "data" / "imagenet-samples"

"""Images and datasets: image files, image folders, CIFAR-10 (Keras' download or the official archive),
streamed folders."""

from nnvisual.data.datasets import (  # noqa: F401
    ARCHIVE_SUFFIXES,
    CIFAR10_CLASSES,
    FOLDER_IMAGE_SIZE,
    IMAGE_SUFFIXES,
    Dataset,
    FolderListing,
    list_image_folder,
    list_images,
    load_cifar10_archive,
    load_cifar10_keras,
    load_dataset,
    load_image_folder,
    load_image_source,
    read_image,
    read_images,
    resize,
    resolve_source,
    stratified_subset,
    subset_dataset,
)

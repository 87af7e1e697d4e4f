"""The posts and files contexts: their use-cases, and their units of work on either storage."""

from __future__ import annotations

from pathlib import Path

from dishka import Provider, Scope, provide, provide_all

from adapters.files.local import LocalFileStorage
from adapters.memory.files import InMemoryFileUnitOfWork
from adapters.memory.posts import InMemoryPostUnitOfWork
from adapters.sql.files import SqlFileUnitOfWork
from adapters.sql.posts import SqlPostUnitOfWork
from application.files.open_file import OpenFile
from application.files.ports import FileStorage, FileUnitOfWork
from application.files.upload_image import ImageStore, UploadImage
from application.posts.attach_image import AttachImage
from application.posts.create_post import CreatePost
from application.posts.delete_post import DeletePost
from application.posts.edit_post import ReplacePost, UpdatePost
from application.posts.export_posts import ExportPosts
from application.posts.get_post import GetPost, GetPostBySlug
from application.posts.list_posts import ListPosts
from application.posts.list_tags import ListTags
from application.posts.policy import PostPolicy
from application.posts.ports import PostUnitOfWork
from application.shared.authorization import Policy
from domain.posts.post import Post
from entrypoints.providers.storage import Storage, unit_of_work_provider
from entrypoints.settings import Settings

__all__ = ["post_providers"]


class PostProvider(Provider):
    policy = provide(PostPolicy, provides=Policy[Post], scope=Scope.APP)
    images = provide(ImageStore, scope=Scope.APP)
    use_cases = provide_all(
        CreatePost,
        GetPost,
        GetPostBySlug,
        ListPosts,
        ListTags,
        ReplacePost,
        UpdatePost,
        DeletePost,
        AttachImage,
        ExportPosts,
        UploadImage,
        OpenFile,
        scope=Scope.REQUEST,
    )

    @provide(scope=Scope.APP)
    def file_storage(self, s: Settings) -> FileStorage:
        return LocalFileStorage(Path(s.upload_dir))


def post_providers(storage: Storage) -> tuple[Provider, ...]:
    return (
        PostProvider(),
        unit_of_work_provider(storage, PostUnitOfWork, sql=SqlPostUnitOfWork, memory=InMemoryPostUnitOfWork),
        unit_of_work_provider(storage, FileUnitOfWork, sql=SqlFileUnitOfWork, memory=InMemoryFileUnitOfWork),
    )

from scheduling.adapters.repository import ClassSessionRepository, ClassTypeRepository, DirectoryRepository
from studio_platform.uow import UnitOfWork


class SchedulingUnitOfWork(UnitOfWork):
    def _open(self) -> None:
        self.class_types = ClassTypeRepository(self.session)
        self.classes = ClassSessionRepository(self.session)
        self.directory = DirectoryRepository(self.session)

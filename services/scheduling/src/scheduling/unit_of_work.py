from scheduling.adapters.repository import ClassSessionRepository, ClassTypeRepository, DirectoryRepository
from studio_platform.uow import UnitOfWork


class SchedulingUnitOfWork(UnitOfWork):
    def _open(self) -> None:
        self.class_types = ClassTypeRepository(self.db)
        self.classes = ClassSessionRepository(self.db)
        self.directory = DirectoryRepository(self.db)

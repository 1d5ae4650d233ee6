from booking.adapters.repository import ClassCopyRepository
from studio_platform.uow import UnitOfWork


class BookingUnitOfWork(UnitOfWork):
    def _open(self) -> None:
        self.classes = ClassCopyRepository(self.session)

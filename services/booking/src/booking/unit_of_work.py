from studio_platform.uow import UnitOfWork

from booking.adapters.repository import ClassCopyRepository


class BookingUnitOfWork(UnitOfWork):
    def _open(self) -> None:
        self.classes = ClassCopyRepository(self.session)

"""CiA 402 (drives and motion control) facts shared by the CANopen driver and its emulator.

The object dictionary is built in code (`object_dictionary`) rather than shipped
as an EDS: it holds only what the driver uses, so it reads as the contract
between `CanopenRobot` and a drive. A real drive's EDS is a superset of it.
"""

from __future__ import annotations

from canopen import objectdictionary as od

# Objects (index) the driver uses.
DEVICE_TYPE = 0x1000
ERROR_REGISTER = 0x1001
HEARTBEAT_TIME = 0x1017
ERROR_CODE = 0x603F
CONTROLWORD = 0x6040
STATUSWORD = 0x6041
MODES_OF_OPERATION = 0x6060
MODES_OF_OPERATION_DISPLAY = 0x6061
POSITION_ACTUAL = 0x6064
VELOCITY_ACTUAL = 0x606C
TORQUE_ACTUAL = 0x6077
TARGET_POSITION = 0x607A
TARGET_VELOCITY = 0x60FF

PROFILE_402 = 402  # low 16 bits of the device type of a CiA 402 drive
MODE_CSP = 8  # cyclic synchronous position

# Statusword: state name -> (mask, value), as in CiA 402 (and canopen.profiles.p402).
STATES: dict[str, tuple[int, int]] = {
    "NOT READY TO SWITCH ON": (0x4F, 0x00),
    "SWITCH ON DISABLED": (0x4F, 0x40),
    "READY TO SWITCH ON": (0x6F, 0x21),
    "SWITCHED ON": (0x6F, 0x23),
    "OPERATION ENABLED": (0x6F, 0x27),
    "QUICK STOP ACTIVE": (0x6F, 0x07),
    "FAULT REACTION ACTIVE": (0x4F, 0x0F),
    "FAULT": (0x4F, 0x08),
}
STATUSWORD_OF = {name: value for name, (_, value) in STATES.items()}
SW_REMOTE = 1 << 9
SW_TARGET_REACHED = 1 << 10

# Controlword commands.
CW_DISABLE_VOLTAGE = 0x00
CW_QUICK_STOP = 0x02
CW_SHUTDOWN = 0x06
CW_SWITCH_ON = 0x07
CW_ENABLE_OPERATION = 0x0F
CW_FAULT_RESET = 0x80


def state_of(statusword: int) -> str:
    for name, (mask, value) in STATES.items():
        if statusword & mask == value:
            return name
    return "UNKNOWN"


def _var(name: str, index: int, data_type: int, access: str = "rw", default: int = 0, subindex: int = 0,
         mappable: bool = False) -> od.ODVariable:
    var = od.ODVariable(name, index, subindex)
    var.data_type, var.access_type, var.default, var.pdo_mappable = data_type, access, default, mappable
    return var


def _record(name: str, index: int, members: list[od.ODVariable]) -> od.ODRecord:
    record = od.ODRecord(name, index)
    for member in members:
        record.add_member(member)
    return record


def object_dictionary(node_id: int) -> od.ObjectDictionary:
    """The objects of a CSP-capable CiA 402 drive with two RPDOs and two TPDOs."""
    d = od.ObjectDictionary()
    d.node_id = node_id
    for var in (
        _var("Device type", DEVICE_TYPE, od.UNSIGNED32, "ro", 0x00020000 | PROFILE_402),
        _var("Error register", ERROR_REGISTER, od.UNSIGNED8, "ro"),
        _var("Producer heartbeat time", HEARTBEAT_TIME, od.UNSIGNED16),
        _var("Error code", ERROR_CODE, od.UNSIGNED16, "ro", mappable=True),
        _var("Controlword", CONTROLWORD, od.UNSIGNED16, mappable=True),
        _var("Statusword", STATUSWORD, od.UNSIGNED16, "ro", mappable=True),
        _var("Modes of operation", MODES_OF_OPERATION, od.INTEGER8, mappable=True),
        _var("Modes of operation display", MODES_OF_OPERATION_DISPLAY, od.INTEGER8, "ro", mappable=True),
        _var("Position actual value", POSITION_ACTUAL, od.INTEGER32, "ro", mappable=True),
        _var("Velocity actual value", VELOCITY_ACTUAL, od.INTEGER32, "ro", mappable=True),
        _var("Torque actual value", TORQUE_ACTUAL, od.INTEGER16, "ro", mappable=True),
        _var("Target position", TARGET_POSITION, od.INTEGER32, mappable=True),
        _var("Target velocity", TARGET_VELOCITY, od.INTEGER32, mappable=True),
    ):
        d.add_object(var)
    for n in range(2):
        for com, mapping, base in ((0x1400, 0x1600, 0x200), (0x1800, 0x1A00, 0x180)):
            kind = "RPDO" if com == 0x1400 else "TPDO"
            d.add_object(_record(f"{kind}{n + 1} communication parameter", com + n, [
                _var("Highest sub-index", com + n, od.UNSIGNED8, "ro", 5, 0),
                _var("COB-ID", com + n, od.UNSIGNED32, default=base + 0x100 * n + node_id, subindex=1),
                _var("Transmission type", com + n, od.UNSIGNED8, default=255, subindex=2),
                _var("Inhibit time", com + n, od.UNSIGNED16, subindex=3),
                _var("Event timer", com + n, od.UNSIGNED16, subindex=5),
            ]))
            d.add_object(_record(f"{kind}{n + 1} mapping parameter", mapping + n, [
                _var("Number of mapped objects", mapping + n, od.UNSIGNED8, subindex=0),
                *[_var(f"Mapped object {k}", mapping + n, od.UNSIGNED32, subindex=k) for k in range(1, 5)],
            ]))
    return d

/** Node adapter: read a device card from devices/<name>.json or a path. */
import { parseDeviceCard, type DeviceCard } from './card';
import { readCardJson, shippedCardNames } from './cardFiles';
import { resolveDevice, type DeviceModel } from './model';

const DEVICE_CARD_FOLDER = 'devices';

/** `hfo2-1t1r-igvva-8` -> <project root>/devices/hfo2-1t1r-igvva-8.json; anything with / or .json is a path. */
export function loadDeviceCard(nameOrPath: string): DeviceCard {
  const { json, label } = readCardJson(nameOrPath, DEVICE_CARD_FOLDER, 'device card');
  return parseDeviceCard(json, label);
}

export function loadDevice(nameOrPath: string): DeviceModel {
  return resolveDevice(loadDeviceCard(nameOrPath));
}

export function shippedDeviceNames(): string[] {
  return shippedCardNames(DEVICE_CARD_FOLDER);
}

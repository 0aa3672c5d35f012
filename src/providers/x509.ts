/**
 * The one place that loads @peculiar/x509, shared by every provider that handles certificates.
 * Two things must happen before it is used on Node 20:
 * 1. the `reflect-metadata` polyfill must be loaded before the library (through tsyringe) is
 *    evaluated — ES modules evaluate their imports in order, so it is imported first;
 * 2. its crypto provider must be Node's WebCrypto. It finds `globalThis.crypto` on its own on
 *    Node ≥ 19, but setting it explicitly does not depend on that detection.
 * Every other module imports x509 from here, never from '@peculiar/x509' directly.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto);

export { x509 };

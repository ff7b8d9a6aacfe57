import QRCode from 'qrcode';

/**
 * A QR code of `text` as a standalone SVG document, generated in process (no network, no image
 * service that would see the secret). Error correction M and the 4-module quiet zone ISO/IEC 18004 asks for.
 */
export function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, {
    type: 'svg',
    errorCorrectionLevel: 'M',
    margin: 4,
    color: { dark: '#000000', light: '#ffffff' },
  });
}

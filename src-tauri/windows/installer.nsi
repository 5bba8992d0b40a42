; The Windows installer, latchkey_<version>_x64-setup.exe: built on Linux by Debian's
; makensis (scripts/windows-installer.sh), tested under Wine (scripts/windows-tests.sh).
;
; - Per user, without administrator rights: into %LOCALAPPDATA%\Programs\Latchkey, with
;   a Start menu entry, an entry in "Installed apps" and the latchkey:// scheme
;   (HKCU\Software\Classes\latchkey) that opens the reset and approval links of the
;   e-mails and browsers in the app.
; - Silent, with IT's settings: `latchkey_0.1.0_x64-setup.exe /S /SERVER=https://auth.corp.cn`
;   writes latchkey.toml beside the app (`server = "…"`), which the app reads before the
;   first-run setup (crates/client/src/config.rs). Without /SERVER an existing
;   latchkey.toml is kept.
; - The app needs the WebView2 runtime, part of Windows 10 (since 2021) and 11; this
;   installer does not fetch it.
;
; makensis -DVERSION=0.1.0 -DEXE=path/to/latchkey.exe -DICON=icons/icon.ico
;          -DOUTFILE=latchkey_0.1.0_x64-setup.exe src-tauri/windows/installer.nsi

; A 64-bit installer for a 64-bit app (Debian's NSIS has the amd64 stubs): it also runs
; under a 64-bit-only Wine, where the tests install it.
Target amd64-unicode
ManifestDPIAware true
; lzma for what is shipped; scripts/windows-installer.sh passes zlib for CI's dev build,
; four times faster to make.
!ifndef COMPRESSOR
  !define COMPRESSOR "/SOLID lzma"
!endif
SetCompressor ${COMPRESSOR}

!include "MUI2.nsh"
!include "FileFunc.nsh"
!include "LogicLib.nsh"

!define PRODUCT "Latchkey"
!define SCHEME "latchkey"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Latchkey"

Name "${PRODUCT}"
OutFile "${OUTFILE}"
RequestExecutionLevel user
InstallDir "$LOCALAPPDATA\Programs\${PRODUCT}"
InstallDirRegKey HKCU "${UNINSTALL_KEY}" "InstallLocation"
VIProductVersion "${VERSION}.0"
VIAddVersionKey /LANG=0 "ProductName" "${PRODUCT}"
VIAddVersionKey /LANG=0 "FileDescription" "${PRODUCT} installer"
VIAddVersionKey /LANG=0 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "LegalCopyright" "Apache-2.0"

!define MUI_ICON "${ICON}"
!define MUI_UNICON "${ICON}"
!define MUI_FINISHPAGE_RUN "$INSTDIR\latchkey.exe"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"
!insertmacro MUI_LANGUAGE "SimpChinese"

LangString BadServer ${LANG_ENGLISH} "The server address given with /SERVER= must start with https:// (http:// only for this computer) and contain no quotes, backslashes or spaces."
LangString BadServer ${LANG_SIMPCHINESE} "/SERVER= 给出的服务器地址必须以 https:// 开头（http:// 仅限本机），且不含引号、反斜杠或空格。"

Var Server

Function .onInit
  Call ReadServer
  ${If} $Server != ""
    Call CheckServer
  ${EndIf}
FunctionEnd

; $Server: the value of /SERVER= on the command line, up to the next space, or between
; quotes (/SERVER="…"). Not GetOptions: it would cut the value at the next "/", and
; every address has some.
Function ReadServer
  StrCpy $Server ""
  ${GetParameters} $0
  StrLen $2 $0
  StrCpy $3 0
  ${DoWhile} $3 < $2
    StrCpy $1 $0 8 $3
    ${If} $1 == "/SERVER="
      IntOp $3 $3 + 8
      StrCpy $4 " "
      StrCpy $1 $0 1 $3
      ${If} $1 == '"'
        StrCpy $4 '"'
        IntOp $3 $3 + 1
      ${EndIf}
      ${DoWhile} $3 < $2
        StrCpy $1 $0 1 $3
        ${IfThen} $1 == $4 ${|} ${Break} ${|}
        StrCpy $Server "$Server$1"
        IntOp $3 $3 + 1
      ${Loop}
      Return
    ${EndIf}
    IntOp $3 $3 + 1
  ${Loop}
FunctionEnd

; The address goes into a TOML string: refuse what could end it or escape from it. The
; app checks the address itself (https, or http to loopback only).
Function CheckServer
  StrCpy $1 $Server 8
  ${If} $1 != "https://"
    StrCpy $1 $Server 7
    ${If} $1 != "http://"
      Goto bad
    ${EndIf}
  ${EndIf}
  StrLen $2 $Server
  StrCpy $3 0
  ${DoWhile} $3 < $2
    StrCpy $1 $Server 1 $3
    ${If} $1 == '"'
    ${OrIf} $1 == "\"
    ${OrIf} $1 == " "
    ${OrIf} $1 == "$\r"
    ${OrIf} $1 == "$\n"
    ${OrIf} $1 == "$\t"
      Goto bad
    ${EndIf}
    IntOp $3 $3 + 1
  ${Loop}
  Return
  bad:
    MessageBox MB_ICONSTOP "$(BadServer)" /SD IDOK
    SetErrorLevel 2
    Quit
FunctionEnd

Section "Latchkey"
  SetOutPath "$INSTDIR"
  ; A running app keeps its file open: ask it to close first (it is a tray app).
  nsExec::Exec '"$SYSDIR\taskkill.exe" /IM latchkey.exe /T'
  Pop $0
  File "/oname=latchkey.exe" "${EXE}"
  ${If} $Server != ""
    FileOpen $0 "$INSTDIR\latchkey.toml" w
    FileWrite $0 "# Written by the installer (/SERVER=): the server this computer signs in to.$\r$\n"
    FileWrite $0 'server = "$Server"$\r$\n'
    FileClose $0
  ${EndIf}
  WriteUninstaller "$INSTDIR\uninstall.exe"

  CreateShortCut "$SMPROGRAMS\${PRODUCT}.lnk" "$INSTDIR\latchkey.exe"

  ; latchkey://reset?… and latchkey://approve?… open the app (a second launch hands the
  ; link to the running one).
  WriteRegStr HKCU "Software\Classes\${SCHEME}" "" "URL:${PRODUCT}"
  WriteRegStr HKCU "Software\Classes\${SCHEME}" "URL Protocol" ""
  WriteRegStr HKCU "Software\Classes\${SCHEME}\DefaultIcon" "" '"$INSTDIR\latchkey.exe",0'
  WriteRegStr HKCU "Software\Classes\${SCHEME}\shell\open\command" "" '"$INSTDIR\latchkey.exe" "%1"'

  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayName" "${PRODUCT}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "Publisher" "${PRODUCT}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayIcon" '"$INSTDIR\latchkey.exe",0'
  WriteRegStr HKCU "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "EstimatedSize" $0
SectionEnd

; The app's own data (settings, logs, the cached meta) and its keychain items stay: they
; belong to the person, and "forget this device" in the app removes the keychain items.
Section "Uninstall"
  nsExec::Exec '"$SYSDIR\taskkill.exe" /IM latchkey.exe /T'
  Pop $0
  Delete "$INSTDIR\latchkey.exe"
  Delete "$INSTDIR\latchkey.toml"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\${PRODUCT}.lnk"
  DeleteRegKey HKCU "Software\Classes\${SCHEME}"
  DeleteRegKey HKCU "${UNINSTALL_KEY}"
SectionEnd
